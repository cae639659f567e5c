// The product's name and version, as the UI, the exports (DICOM Manufacturer/Software Versions, the PDF) and backups
// state them. A module of its own so that any core service can name them without importing the API layer.
export const APP_NAME = 'CXR Workstation';
export const APP_VERSION = '0.1.0';
