// Declarations for packages that ship no types of their own.
declare module 'dcmjs';
