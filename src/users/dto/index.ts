export * from './dashboard.dto';
export * from './update-user.dto';
export * from './user.dto';
