/**
 * Looking inside PixNerd's neural-field head (paper.md 1.4-1.6, architecture.md "Neural-field
 * head") for one image at one timestep, and the linear head's comparable view.
 *
 *   const probe = probeField(params, cfg, image, { t: 0.5, label: 3, seed: 0 });
 *   showPng(await fieldWeightsPng(probe, { block: 0, patch: 5 }));      // W1, W2 of patch 5
 *   await showFieldWeights(probe, { block: 0, patch: 5 });              // the same, interactive (hover reads values)
 *   const stats = patchWeightStats(probe);                             // per patch and matrix
 *   showPng(await patchStatMapPng(probe, stats, { stat: 'deviation' })); // the stat over the image
 *   await showVegaLite(patchStatsHistogramSpec(stats, 'rawNorm'));     // its distribution
 *   showPng(await coordBasisPng(cfg));                                  // the DCT basis, p x p each
 *   const dense = decodeDense(params, cfg, probe, { factor: 4 });       // the same field on a 4x grid
 *   showPng(await denseDecodePng(probe, dense, { patch: 5 }));
 *
 * What is shown. Each patch's last hidden state generates, per NerfBlock, W1 [hx, hx*r] and
 * W2 [hx*r, hx] (laid out (in, out)); the reference L2-normalises every column (its input axis),
 * so the columns of the weights *as used* have norm 1 and the raw generator output carries the
 * norms. `deviation` measures how patch-specific a field is: ||W_n - mean_m W_m|| / ||mean_m W_m||
 * over the weights as used. The field is a function of the DCT (or sin-cos) coordinate code, so it
 * can be evaluated on a denser grid than p x p: `decodeDense` runs pixnerdForward with the input
 * at factor x the size and `trunkSize` = the training size (the trunk sees its usual token grid).
 *
 * The linear head (DiT final layer) writes every patch as a combination of the same D output
 * filters (its weight's rows, each a p x p x C image), with per-patch coefficients; `linearHeadFilters`
 * and `linearFiltersPng` show those filters, and `patchOutputRms` (either head) the per-patch
 * output energy, for side-by-side comparison.
 *
 * Everything returns plain data (typed arrays) or PNG bytes; no tensor outlives a call.
 * Legend: H x W image, C channels, p patch, gridH x gridW = L patches (row-major, patch
 * n = row * gridW + col), hx field width, hr = hx * r, E coordinate features, D trunk width.
 * Images are NHWC with one image (B = 1), values in [-1, 1]; t = 0 is noise, t = 1 data.
 *
 * Files: probe.ts (run the model, collect generated weights), field-weights.ts (one patch),
 * patch-stats.ts (across patches), coord-basis.ts, dense-decode.ts, linear-filters.ts.
 */
export * from './probe';
export * from './field-weights';
export * from './patch-stats';
export * from './coord-basis';
export * from './dense-decode';
export * from './linear-filters';
