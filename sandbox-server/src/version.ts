/** Reported in the health answer; kept in step with sandbox-server/package.json. */
export const LAB_VERSION = '0.1.0';
export const LAB_SERVER_NAME = 'sandgate-lab';
