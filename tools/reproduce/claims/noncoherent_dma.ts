/**
 * Claim 3 (seed 002, non-coherent DMA): honouring the guest's memory type
 * makes live migration read pages the guest maps UC/WC through the host's WB
 * mapping (aliasing); the remedy is a clflush before reading. Memslot flag
 * (guest PAT only in that slot) vs the RFC's KVM virtio device (guest MTRRs
 * and PAT over all memory).
 *
 * @module
 */
import type { Claim, ClaimResult, Scale } from "../claim.ts";
import { printedNumber, runScriptFile } from "../run.ts";

const EXAMPLE = "examples/noncoherent_dma.kvm";

/** The claim. */
export const NONCOHERENT_DMA: Claim = {
  id: "noncoherent_dma",
  async run(_scale: Scale, kvm: boolean): Promise<ClaimResult> {
    const emu = await runScriptFile(EXAMPLE, "emu");
    const torn = printedNumber(emu, "pass without clflush:");
    const flushed = printedNumber(emu, "pass with clflush:");
    const device = printedNumber(emu, "migrating that RAM:");
    const pages = 512;
    const commands = [emu.command];
    let kvmNote = "";
    if (kvm) {
      const real = await runScriptFile(EXAMPLE, "kvm");
      commands.push(real.command);
      kvmNote =
        ` On kvm the migration pass itself runs (${
          printedNumber(real, "pass 1 over ram:")
        } pages read); the flag and the device are refused (not in mainline) and the host cannot ` +
        "see the guest's memory types, so hazards exist only on the emulator.";
    }
    return {
      id: "noncoherent_dma",
      title: "3. Non-coherent DMA: migration hazards (memslot flag vs KVM virtio device)",
      seed: "Once KVM honours the guest's memory types, \"QEMU reads all guest memory in live " +
        'migration" through its WB mapping, so pages the guest maps UC or WC alias; flush ' +
        "(clflush) before reading (Zhao, Tian, Christopherson, 2023). The memslot flag confines " +
        "guest types to its slot and ignores MTRRs; the KVM device applies them to all memory.",
      size: "the seed's case is qualitative: one 2 MiB slot (512 pages) per design, as " +
        "examples/noncoherent_dma.kvm has it.",
      charts: [{
        title: "Pages read while the guest maps them non-WB, one migration pass",
        x: { label: "design: 1 = memslot flag (shm slot, PAT WC), 2 = KVM device (RAM, MTRR UC)" },
        y: { label: "hazards (pages)" },
        series: [
          { name: "without clflush", points: [{ x: 1, y: torn }, { x: 2, y: device }] },
          { name: "with clflush", points: [{ x: 1, y: flushed }] },
        ],
      }],
      table: {
        header: ["case", "hazards", "pages", "seed"],
        rows: [
          ["memslot flag, slot mapped WC, no clflush", String(torn), String(pages), "aliasing"],
          ["memslot flag, slot mapped WC, clflush first", String(flushed), String(pages), "none"],
          [
            "KVM device, plain RAM under MTRR UC, no clflush",
            String(device),
            String(pages),
            "aliasing (all memory)",
          ],
        ],
      },
      ratio: `Every page the guest maps non-WB is a hazard without clflush (${torn}/${pages}), ` +
        `none with it (${flushed}, at ${pages} pages flushed); under the KVM device even plain ` +
        `RAM aliases (${device}/${pages}), which the memslot flag prevents.${kvmNote}`,
      differs: "The seed gives no number, so there is no ratio to compare: the reproduction " +
        "shows the mechanism (which pages alias, under which design) and the cost of the remedy " +
        "in pages flushed. The time of a clflush pass is not modelled.",
      commands,
    };
  },
};
