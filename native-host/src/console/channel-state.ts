/** What the console channel's loops tell each other: the heartbeat reports both. */
export interface ChannelState {
  /** The group policy revision applied (written by the poll loop). */
  revision: number;
  /** Bytes of the event log not yet delivered (written by the event loop). */
  backlogBytes: number;
}
