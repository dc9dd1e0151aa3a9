export {
  BASE_INPUTS_LABEL,
  NPM_VERSION,
  baseConfigArgs,
  baseInputsDigest,
  baseTarget,
  ensureBaseImage,
  mmdebstrapArgs,
  pinnedNode,
  qualifiedImageName,
  type BaseImageOptions,
  type BaseImageResult,
  type BaseTarget,
} from './base.js';
export {
  imageLabel,
  output,
  runLoggedLines,
  storedImage,
  type LoggedRun,
  type StoredImage,
} from './buildah.js';
export { BUILD_CA_FILE, buildNpmrc, npmBuildVolumes } from './npm-config.js';
export {
  SERVICE_IMAGE_TAG,
  serviceBuildArgs,
  serviceImage,
  serviceNames,
  type ServiceBuild,
} from './services.js';
export { checkServiceImage, type ServiceImageCheck } from './check.js';
