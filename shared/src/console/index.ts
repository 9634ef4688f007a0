export * from './version.ts';
export * from './enrollment.ts';
export * from './heartbeat.ts';
export * from './event-batch.ts';
export * from './console-task.ts';
export * from './poll.ts';
export * from './group-actions.ts';
export * from './restore-request.ts';
