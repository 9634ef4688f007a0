/**
 * The tree of a STIX 2.1 pattern (STIX 2.1 §9), as `stix-pattern-parser.ts` builds it. Every node keeps the offset it
 * started at, so an unsupported part is named with where it is.
 */

export type StixLiteral =
  | { kind: 'string'; value: string }
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  /** `h'…'`: lower-case hex digits. */
  | { kind: 'hex'; value: string }
  /** `b'…'`: base64 as written. */
  | { kind: 'binary'; value: string }
  /** `t'…'`: RFC 3339 UTC timestamp as written. */
  | { kind: 'timestamp'; value: string };

export type StixPathStep = { key: string } | { index: number | '*' };

export interface StixObjectPath {
  /** `file`, `process`, `network-traffic`… */
  objectType: string;
  steps: StixPathStep[];
  /** Canonical text, `file:hashes.'SHA-256'`, `process:binary_ref.name`, `x:a[*].b`. */
  text: string;
}

export type StixComparisonOperator = '=' | '!=' | '<' | '>' | '<=' | '>=' | 'IN' | 'LIKE' | 'MATCHES' | 'ISSUBSET' | 'ISSUPERSET';

export type StixComparison =
  | { kind: 'compare'; path: StixObjectPath; negated: boolean; op: StixComparisonOperator; value: StixLiteral | StixLiteral[]; pos: number }
  | { kind: 'exists'; path: StixObjectPath; negated: boolean; pos: number };

/** What is inside one `[ … ]`: comparisons joined by AND / OR, about one observed object. */
export type StixComparisonExpression = StixComparison | { kind: 'and' | 'or'; children: StixComparisonExpression[]; pos: number };

export type StixQualifier =
  { kind: 'WITHIN'; seconds: number } | { kind: 'REPEATS'; times: number } | { kind: 'START STOP'; start: string; stop: string };

/** Observation expressions: `[ … ]` joined by AND / OR / FOLLOWEDBY, each optionally qualified. */
export type StixObservationExpression =
  | { kind: 'observation'; comparison: StixComparisonExpression; pos: number }
  | { kind: 'and' | 'or' | 'followedby'; children: StixObservationExpression[]; pos: number }
  | { kind: 'qualified'; expression: StixObservationExpression; qualifiers: StixQualifier[]; pos: number };
