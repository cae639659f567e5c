// Inference service: model packs (manifest + ONNX, checked before use), one ONNX Runtime session per analyzer,
// the training pre-processing reproduced in TypeScript, and post-processing to boxes, lung outlines, zones and an
// evidence grid in original image pixels; an image without two plausible lung fields gets no score (./scope).
// Errors: MODEL_MISSING, MODEL_CORRUPT, MODEL_MISMATCH, INFERENCE_FAILED, OUT_OF_SCOPE (and the imaging codes for
// files that do not decode).
export { loadModelPack, createAnalyzer, verifyPackFiles, type PackVerification, type ModelPack, type ModelPackInfo, type Analyzer, type AnalyzerOptions, type LoadOptions, type ExecutionProvider, type EpRequest } from './pack';
export { analyzeImage, analyzeFile, analyzeDetailed, decodeFile, tbLogit, type AnalysisResult, type AnalysisDetail, type AnalyzeOptions } from './analyze';
export { toUnitRange, dicomUnitLut, letterboxGeometry, letterbox, normalise, preprocessImage, preprocessUnit, resizeBilinearAA, toSource, toLetterbox, type Letterbox } from './preprocess';
export { rasterizePolygon, type Box, type LungZone, type EvidenceGrid, type Point, type Probability } from './postprocess';
export { ManifestSchema, type PackManifest } from './manifest';
export { SCOPE_LIMITS, lungFieldReasons, measureLungFields, scopeVerdict, outOfScopeMessage, type LungFieldMeasures, type ScopeVerdict } from './scope';
export { defaultPackDir, packagedPackDir, resolvePackDir, type PackLocation } from './paths';
