/**
 * Adams-Bashforth-style linear multistep coefficients (paper.md 3.4, AdamLMSampler): for step i
 * with k = min(order, i + 1), integrate the Lagrange polynomial through the last k grid times
 * over [t_i, t_{i+1}] and divide by the step so the weights sum to 1. Oldest first.
 * Uniform grid, order 2: (-1/2, 3/2).
 */

/** Gauss-Legendre nodes/weights on [-1, 1] (exact for polynomials of degree <= 7). */
const GL_X = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
const GL_W = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];

/** Weights c_j (j = 0 oldest .. k-1 current) for the step t_i -> t_{i+1}. */
export function adamsCoefficients(times: readonly number[], i: number, order: number): number[] {
  if (!Number.isInteger(order) || order < 1 || order > 4) throw new Error(`Adams order must be 1..4, got ${order}`);
  const k = Math.min(order, i + 1);
  const nodes = times.slice(i - k + 1, i + 1); // the k most recent times, oldest first
  const a = times[i]!, b = times[i + 1]!;
  const h = b - a;
  return nodes.map((_, j) => {
    let integral = 0;
    for (let q = 0; q < GL_X.length; q++) {
      const t = a + ((GL_X[q]! + 1) * h) / 2;
      let l = 1;
      for (let m = 0; m < k; m++) if (m !== j) l *= (t - nodes[m]!) / (nodes[j]! - nodes[m]!);
      integral += (GL_W[q]! * l * h) / 2;
    }
    return integral / h;
  });
}
