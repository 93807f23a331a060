/**
 * The agent engine. An agent ("cell") owns a lazily grown mailbox and its state; it holds no fiber while
 * idle. A per-system dispatcher runs ready cells: synchronous handler results are applied in a tight
 * loop on the caller's stack (bounded by a budget, then continued on the Effect scheduler), and a handler
 * that returns an Effect moves its cell onto a worker fiber until its mailbox is empty again.
 *
 * Invariants:
 * - a cell is in at most one of: idle, in the ready queue, being run by the dispatcher, owned by a worker;
 * - at most one handler of a cell runs at a time, in mailbox order;
 * - every message and timer belongs to an incarnation (`gen`); a restart clears the mailbox, cancels
 *   timers and watches, and fails pending replies, so nothing from a dead incarnation reaches the next.
 * @internal
 */
export { AgentCtx } from "./agentCtx.ts"
export { Cell, type RestartType } from "./cell.ts"
export { AskEnvelope, exitNormal, exitShutdown, Offer } from "./envelope.ts"
export { type SupervisorConfig, SupervisorCore } from "./supervisorCore.ts"
export { type KernelMetrics, type LifecycleHook, type SystemOptions, SystemRuntime } from "./system.ts"
