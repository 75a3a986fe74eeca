/**
 * Evaluation metrics on feature matrices [N, F] (plain Float64 TypeScript, no tensors):
 * FID, KID, improved precision/recall, class-conditional accuracy, and the linear algebra
 * under them.
 *
 *   import { featureMatrix, fidFromFeatures, kid, precisionRecall } from './kernel-lib/metrics';
 *   const real = featureMatrix(realData, N, F), fake = featureMatrix(fakeData, M, F);
 *   fidFromFeatures(real, fake).fid;
 */
export * from './feature-matrix';
export * from './feature-stats';
export * from './symmetric-eigen';
export * from './matrix-sqrt';
export * from './fid';
export * from './kid';
export * from './precision-recall';
export * from './class-accuracy';
export * from './speckle';
export * from './stray-marks';
export * from './synthetic-features';
