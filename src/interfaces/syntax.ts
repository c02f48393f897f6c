/**
 * The lossless syntax tree of an ifupdown2 `interfaces` file.
 *
 * Every byte of the input belongs to exactly one top-level node (convention 1, after
 * eemeli/yaml's CST): nodes are contiguous, in order, and cover the whole text, so printing
 * the nodes' raw text gives the input back byte for byte. Nodes hold offsets into `src`.
 * Edits are text edits (see edits.ts) followed by a re-parse; the incremental one
 * (`reparse`) reuses the nodes outside the change and moves those after it in place, which
 * is the only mutation a node ever sees (the previous Document is then retired: using it throws).
 */
import type { Diagnostic } from './diagnostic.ts';

/**
 * One logical line: one physical line, or several joined by backslashes as ifupdown2 joins them
 * (parser.ts splitLines).
 */
export interface Line {
  /** Offset of the first byte of the line (start of indentation). */
  start: number;
  /** Offset just past the last content byte (before trailing whitespace and the EOL). */
  contentEnd: number;
  /** Offset just past the line terminator (or end of input). */
  end: number;
  /** 1-based line number of the first physical line. */
  lineNo: number;
  /** Number of physical lines (> 1 when continued with `\`). */
  physical: number;
  /** The terminator of the last physical line: '\n', '\r\n', or '' at end of input. */
  eol: '' | '\n' | '\r\n';
  /** Leading whitespace of the first physical line. */
  indent: string;
  /** The logical content: continuations joined with one space, indentation and trailing whitespace removed. */
  text: string;
}

export interface Word {
  text: string;
  /** Offset in src. */
  start: number;
  end: number;
}

export type Family = 'inet' | 'inet6';

/** `name value` inside an iface stanza. */
export interface OptionNode {
  kind: 'option';
  line: Line;
  /** The keyword exactly as written (`bridge_ports`, `bridge-ports`). */
  name: string;
  nameStart: number;
  /** The value as a logical string (continuations joined); '' when missing. */
  value: string;
  /** Offsets of the value text when it sits on one physical line; -1 otherwise. */
  valueStart: number;
  valueEnd: number;
}

export interface CommentNode {
  kind: 'comment';
  line: Line;
  /** Text after `#`. */
  text: string;
}

export interface BlankNode {
  kind: 'blank';
  line: Line;
}

/** `iface NAME [FAMILY METHOD] [extra words]` and the lines that belong to it. */
export interface IfaceNode {
  kind: 'iface';
  start: number;
  end: number;
  header: Line;
  name: Word | null;
  family: Word | null;
  method: Word | null;
  /** Words after the method (invalid, but kept). */
  extra: Word[];
  /** Options, comments and blank lines up to the next top-level keyword. */
  body: (OptionNode | CommentNode | BlankNode)[];
}

/** `auto`, `allow-auto`, `allow-hotplug`, `allow-<class>` lines. */
export interface AutoNode {
  kind: 'auto';
  start: number;
  end: number;
  line: Line;
  keyword: Word;
  /** `auto` for auto/allow-auto, `hotplug` for allow-hotplug, else the class name. */
  cls: string;
  names: Word[];
}

/** `source PATTERN` (ifupdown2 has no `source-directory`: it reads that as an option). */
export interface SourceNode {
  kind: 'source';
  start: number;
  end: number;
  line: Line;
  keyword: Word;
  path: string;
}

/**
 * An unmanaged stanza, kept verbatim: ifupdown2's `vlan NAME` (bridge-VLAN) stanza. (ifupdown2
 * has no `mapping` keyword; the kind keeps its old name.)
 */
export interface MappingNode {
  kind: 'mapping';
  start: number;
  end: number;
  header: Line;
  lines: Line[];
}

/** Top-level comment or blank line. */
export interface TriviaNode {
  kind: 'comment' | 'blank';
  start: number;
  end: number;
  line: Line;
  /** Comment text after `#` (comments only). */
  text: string;
}

/** A line nodenet does not understand at top level (kept verbatim, reported). */
export interface UnknownNode {
  kind: 'unknown';
  start: number;
  end: number;
  line: Line;
}

/** A byte-order mark at the start of the file. */
export interface BomNode {
  kind: 'bom';
  start: number;
  end: number;
}

export type TopNode = IfaceNode | AutoNode | SourceNode | MappingNode | TriviaNode | UnknownNode | BomNode;

export interface Document {
  src: string;
  nodes: TopNode[];
  diagnostics: Diagnostic[];
  /** The file's dominant line ending, used for new lines. */
  eol: '\n' | '\r\n';
  /** The dominant option indentation, used for new stanzas. */
  indent: string;
}
