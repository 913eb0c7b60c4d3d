export * from './access-token.dto';
export * from './login.dto';
export * from './register.dto';
