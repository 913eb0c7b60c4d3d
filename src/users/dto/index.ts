export * from './update-user.dto';
export * from './me.dto';
export * from './user.dto';
