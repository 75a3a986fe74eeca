/**
 * Class-conditional accuracy: how often a classifier's prediction on a generated image equals
 * the class label the image was conditioned on, overall and per class.
 *
 * Legend: N samples, K classes; labels are integer class ids in [0, K).
 */
import { ConfigError, ShapeError } from '../util/errors';

export interface ClassAccuracy {
  /** correct / total over all N samples. */
  readonly accuracy: number;
  readonly correct: number;
  readonly total: number;
  /** [K] per conditioning class: correct, total and accuracy (NaN where the class has no samples). */
  readonly perClass: ReadonlyArray<{ readonly correct: number; readonly total: number; readonly accuracy: number }>;
  /** Mean of the per-class accuracies over the classes that have samples (balanced accuracy). */
  readonly meanPerClass: number;
}

/**
 * Accuracy of `predicted` [N] against the conditioning `labels` [N], both class ids in [0, K).
 * K is `numClasses` when given, else 1 + the largest id seen.
 *
 *   classAccuracy([0, 1, 1], [0, 1, 2], 3)  // accuracy 2/3, class 2 accuracy 0
 */
export function classAccuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>, numClasses?: number): ClassAccuracy {
  const n = labels.length;
  if (predicted.length !== n) throw new ShapeError(`classAccuracy: ${predicted.length} predictions for ${n} labels`);
  if (n === 0) throw new ShapeError('classAccuracy: no samples (N = 0)');
  if (numClasses !== undefined && (!Number.isInteger(numClasses) || numClasses < 1))
    throw new ConfigError('classAccuracy.numClasses', numClasses, 'must be an integer >= 1');
  let maxId = 0;
  for (const [what, a] of [['predicted', predicted], ['labels', labels]] as const) {
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
        const rule = numClasses === undefined ? 'a class id must be an integer >= 0' : `a class id must be an integer in [0, ${numClasses})`;
        throw new ShapeError(`classAccuracy: ${what}[${i}] = ${v}: ${rule}`);
      }
      maxId = Math.max(maxId, v);
    }
  }
  const k = numClasses ?? maxId + 1;
  const correctBy = new Float64Array(k);
  const totalBy = new Float64Array(k);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    totalBy[y]!++;
    if (predicted[i] === y) {
      correctBy[y]!++;
      correct++;
    }
  }
  const perClass = Array.from({ length: k }, (_, c) => ({
    correct: correctBy[c]!,
    total: totalBy[c]!,
    accuracy: totalBy[c]! > 0 ? correctBy[c]! / totalBy[c]! : NaN,
  }));
  const present = perClass.filter((c) => c.total > 0);
  const meanPerClass = present.reduce((s, c) => s + c.accuracy, 0) / present.length;
  return { accuracy: correct / n, correct, total: n, perClass, meanPerClass };
}
