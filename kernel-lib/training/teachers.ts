/**
 * The REPA teachers that work offline here (kernel-lib/training/repa.ts has the interface):
 * - `mnist` / `fashion-mnist`: the project's small CNN trained on that dataset (shipped weights,
 *   kernel-lib/classifier/weights), its conv grid [B, 8, 8, 64] of the clean image;
 * - `mobilenet-v2`: nsfwjs's ImageNet-initialised MobileNetV2, `out_relu` [B, 7, 7, 1280];
 * - `random`: a fixed random conv net (tests, and a control that aligns to nothing learned).
 * `auto` picks the dataset's own classifier for MNIST / Fashion-MNIST, else MobileNetV2.
 * REPA resamples every teacher grid to the trunk's token grid.
 */
import type { TeacherName } from './train-config';
import { randomTeacher, type Teacher } from './repa';
import { defaultNetworkFor, loadNetwork } from '../classifier/networks';

export type DisposableTeacher = Teacher & { dispose(): void };

/** The concrete teacher `auto` means for a dataset. */
export function resolveTeacherName(name: TeacherName, dataset: string): Exclude<TeacherName, 'auto'> {
  return name === 'auto' ? defaultNetworkFor(dataset) : name;
}

/** Loads a teacher (the caller disposes it). `channels` / `cell` / `seed` shape the random one. */
export async function loadTeacher(name: TeacherName, ctx: { dataset: string; channels: number; cell: number; seed: number }): Promise<DisposableTeacher> {
  const which = resolveTeacherName(name, ctx.dataset);
  if (which === 'random') return randomTeacher({ channels: ctx.channels, cell: ctx.cell, dim: 64, seed: ctx.seed });
  const net = await loadNetwork(which);
  return { ...net.teacher, dispose: () => net.dispose() };
}
