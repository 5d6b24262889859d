/**
 * The emulator's x86-64 CPU: the {@linkcode EmuCpu} of `vmm/emu/port.ts`,
 * running the subset of `guest/ISA.md` in 64-bit mode.
 *
 * Layout (one job per module, in the manner of v86 and blink):
 * - `opcodes.ts`: the opcode table ({@linkcode OPCODES}): one row per
 *   opcode with its decode form and its handler, compiled (`emit_ops.ts`)
 *   or interpreted (`system.ts`);
 * - `inst.ts`: the decoded-instruction record;
 * - `decode.ts`: bytes → {@linkcode DecodedInst} ({@linkcode decode});
 * - `flags.ts`: lazy flags, whose formulas exist once as expression text;
 * - `alu.ts`: shifts, rotates, multiplies, divides on 32-bit halves;
 * - `compile.ts`: basic blocks → JavaScript functions (`new Function`),
 *   each instruction emitted by its row's handler through `emitter.ts`;
 * - `tlb.ts`: the software TLB; `code_cache.ts`: compiled blocks per page;
 * - `core.ts`: registers and the memory slow paths; `system.ts`: the
 *   handlers of instructions that run alone (I/O, CPUID, MSRs, control
 *   registers, string instructions);
 * - `cpu.ts`: the dispatcher ({@linkcode Cpu}, {@linkcode createCpu});
 * - `flat_mmu.ts`: a flat identity-mapped MMU double for tests and benches.
 *
 * Exactness: registers are int32 halves and every ALU form is exact at
 * 8/16/32/64 bits (checked against the real CPU, see
 * `tests/vmm/emu/cpu/native_test.ts`). Speed: blocks are decoded once per
 * guest-physical page, compiled with the TLB check inlined, chained, and a
 * block that jumps to itself loops inside its function (about 4× the 150 M
 * instructions/s goal on the write-sweep loop, `bench/emu_cpu.ts`).
 *
 * Known gaps: 64-bit mode only (segments and CS.L are ignored); no
 * interrupts or IDT (every exception is a triple fault, as the VMM installs
 * none); host-side writes into guest code are invisible to the code cache
 * unless the VMM calls {@linkcode Cpu.invalidateCode}, the MMU flushes
 * the page, or the VM creates vCPU 0 again (a guest reload); an access that straddles RAM and MMIO is reported as one MMIO
 * access.
 *
 * @example Decoding one instruction
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decode } from "./mod.ts";
 * assertEquals(decode(new Uint8Array([0xf4]))?.mnemonic, "hlt");
 * ```
 *
 * @module
 */
export { Cpu, createCpu, GPR_NUMBERS, MAX_BLOCK_INSTS } from "./cpu.ts";
export { decode, type DecodedInst, MAX_INST_LEN, type MemOperand } from "./decode.ts";
export { type BranchKind, CC_NAMES, type ImmKind, OPCODES, type OpcodeSpec } from "./opcodes.ts";
export type { EmitFn } from "./emit_ops.ts";
export type { RunFn } from "./system.ts";
export { cpuidLeaf, MSR_EFER, MSR_PAT } from "./system.ts";
export { AF, CF, OF, PF, SF, ZF } from "./flags.ts";
export { TLB_MAX_SIZE, TLB_SIZE } from "./tlb.ts";
