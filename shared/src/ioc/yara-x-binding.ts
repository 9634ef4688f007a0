/**
 * The part of `@litko/yara-x` (the YARA-X engine's napi-rs binding) that Sandgate uses, typed once for both users:
 * sandgate-lab's rule engine and the agent's IOC scans. Loading the native module is each product's own few lines
 * (it needs Node's module loader, which shared/ never imports). @since issue 18
 */

export interface YaraMatchData {
  offset: number;
  length: number;
  identifier: string;
  /** The matched bytes as text (the binding's rendering). */
  data?: string;
}

export interface YaraRuleMatch {
  ruleIdentifier: string;
  namespace: string;
  meta: Record<string, unknown>;
  tags: string[];
  matches: YaraMatchData[];
}

export interface YaraRules {
  /** On the calling thread, with the rules' cached scanner. */
  scan(data: Buffer): YaraRuleMatch[];
  /** On the binding's thread pool, with a scanner set up for the call. */
  scanAsync(data: Buffer): Promise<YaraRuleMatch[]>;
}

export interface YaraCompileMessage {
  code: string;
  message: string;
  line?: number;
  column?: number;
}

export interface YaraCompilerOptions {
  /** `include` reads other files: off, so a rule file cannot make the agent read what it names. */
  enableIncludes?: boolean;
  errorOnSlowPattern?: boolean;
  errorOnSlowLoop?: boolean;
  ignoreModules?: string[];
  /** Modules whose `import` is a compile error with this title and message. */
  bannedModules?: Array<{ name: string; errorTitle: string; errorMessage: string }>;
}

export interface YaraBinding {
  compile(source: string, options?: YaraCompilerOptions): YaraRules;
  validate(source: string, options?: YaraCompilerOptions): { warnings: YaraCompileMessage[]; errors: YaraCompileMessage[] };
}
