export * from './create-post.dto';
export * from './list-posts.query';
export * from './post.dto';
export * from './post-page.dto';
export * from './update-post.dto';
export * from './export-posts.query';
export * from './import-error.dto';
export * from './import-result.dto';
