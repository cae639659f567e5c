// The station in the clinic's DICOM network (issue 7): the receiver (C-STORE/C-ECHO SCP), remote archives by DIMSE
// or DICOMweb (query, retrieve, store), and the persistent outgoing queue. NetworkService is the entry point.
export { NetworkService, type NetworkHooks, type NetworkServiceOptions } from './service';
export { NetworkRepo, DEFAULT_SETTINGS, publicRemote, publicQueueItem, type RemoteConfig, type QueueEntry } from './repo';
export { DicomReceiver, type ReceivedInstance, type StoreVerdict } from './receiver';
export { DimseArchive, statusText } from './dimse';
export { DicomwebArchive, parseMultipart, buildMultipart } from './dicomweb';
export { SendError, type Archive, type StudyMatch, type InstanceMatch, type StudyFilter } from './archive';
export { OutgoingQueue, backoffMs, DEFAULT_TIMING, type QueueTiming } from './queue';
export { part10FromDataset, readIdentity, resultKind, dateRange, IMAGE_STORAGE_CLASSES } from './dicom';
