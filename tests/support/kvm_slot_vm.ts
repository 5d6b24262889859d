/**
 * Test support: a real-KVM VM with one slot `ram` at 1 GiB (the `demand
 * uffd` tests' starting point), closed again if the slot cannot be added.
 *
 * @module
 */
import { KvmVm } from "../../vmm/kvm/mod.ts";
import type { Backing } from "../../vmm/types.ts";

/** Where the slot starts. */
export const RAM_GPA = 1n << 30n;

/**
 * A VM with slot `ram` of `size` bytes at {@linkcode RAM_GPA}.
 *
 * @param name the VM's name
 * @param size the slot's size
 * @param backing the slot's host memory
 * @param vcpus vCPUs
 * @returns the VM (the caller closes it)
 */
export function vmWithRam(name: string, size: bigint, backing: Backing, vcpus = 1): KvmVm {
  const vm = new KvmVm({ name, vcpus });
  try {
    vm.addMemslot({ name: "ram", gpa: RAM_GPA, size, backing });
  } catch (e) {
    vm.close();
    throw e;
  }
  return vm;
}
