// electron-builder configuration: Windows x64 (NSIS, per-machine or per-user) and Linux x64 (AppImage, deb).
// `npm run dist` (scripts/dist.mjs) builds the UI and the main process first, then calls electron-builder with this
// file. scripts/electron-builder-config.test.mjs checks what it declares against the repository.
//
// Layout of an installed app (what electron/main/paths.ts and electron/core/inference/paths.ts resolve):
//   resources/app.asar                 dist/electron (main, preload), dist/renderer, package.json, node_modules
//   resources/app.asar.unpacked/       native modules and files loaded by the OS or a worker thread
//   resources/models/packs/cxr-tb-v1/  the model pack (extraResources), verified by checksum at every start
//   resources/icon.png                 the window icon on Linux
//
// Environment:
//   CXR_ELECTRON_DIST  a folder with an unpacked Electron of the pinned version (electron-v45.5.0-<os>-x64.zip
//                      extracted), for build machines that cannot download it
//   CXR_BUILD_NUMBER   appended to the installer's file version (CI)

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The model pack that ships with the app, and the files of it that the app reads. */
export const MODEL_PACK = 'cxr-tb-v1';
export const MODEL_PACK_FILES = ['manifest.json', 'model.onnx', 'MODEL_CARD.md', 'metrics.json'];

/** Native addons, and files read outside Electron's asar support (the codecs' .wasm is read by a worker thread). */
export const UNPACKED_MODULES = ['better-sqlite3', 'better-sqlite3-multiple-ciphers', 'onnxruntime-node', 'dcmjs-codecs'];

/**
 * @param {Record<string, string | undefined>} env
 * @returns {import('app-builder-lib').Configuration}
 */
export function createConfig(env = process.env) {
  return {
    appId: 'org.cxr-workstation.app',
    productName: 'CXR Workstation',
    copyright: 'Copyright © 2026 CXR Workstation contributors',
    ...(env.CXR_BUILD_NUMBER ? { buildVersion: env.CXR_BUILD_NUMBER } : {}),
    // Pinned to the installed electron package, so that a build with CXR_ELECTRON_DIST uses the same version.
    electronVersion: require('electron/package.json').version,
    directories: { output: 'dist/installers', buildResources: 'build' },
    // The app is dist/ (built by `npm run build`) plus the production dependencies electron-builder collects.
    files: [
      'package.json',
      'dist/electron/**/*',
      'dist/renderer/**/*',
      '!dist/installers{,/**/*}',
      '!**/*.map',
      // Sources, tests, build trees and documentation of the dependencies are not needed at run time.
      '!**/node_modules/*/{test,tests,__tests__,example,examples,docs,doc,benchmark,benchmarks,.github}{,/**/*}',
      '!**/node_modules/**/*.{md,markdown,ts,tsx,cc,cpp,c,h,hpp,gyp,gypi}',
      '!**/node_modules/*/{*.d.ts,tsconfig.json,.eslintrc*}',
      '!**/node_modules/better-sqlite3{,-multiple-ciphers}/{deps,src}{,/**/*}',
      // of a native module's build tree only the addon itself is needed
      '!**/node_modules/better-sqlite3{,-multiple-ciphers}/build/!(Release){,/**/*}',
      '!**/node_modules/better-sqlite3{,-multiple-ciphers}/build/Release/!(better_sqlite3.node){,/**/*}',
      // onnxruntime-node carries every platform's binaries (290 MB): keep only the target's. electron-builder
      // expands ${platform} (win32, linux) and ${arch} (x64) per build; platform-level `files` would replace these.
      '!**/node_modules/onnxruntime-node/bin/napi-v6/!(${platform}){,/**/*}',
      '!**/node_modules/onnxruntime-node/bin/napi-v6/*/!(${arch}){,/**/*}',
      // tsx is a dependency for the `cxr` command; the packaged app runs the esbuild bundle and needs neither.
      '!**/node_modules/{tsx,esbuild,@esbuild}{,/**/*}',
    ],
    extraResources: [
      { from: `models/packs/${MODEL_PACK}`, to: `models/packs/${MODEL_PACK}`, filter: MODEL_PACK_FILES },
      { from: 'build/icon.png', to: 'icon.png' },
      { from: 'SECURITY.md', to: 'SECURITY.md' },
    ],
    asar: true,
    asarUnpack: [...UNPACKED_MODULES.map((m) => `**/node_modules/${m}/**/*`), '**/*.node'],
    // Native modules are rebuilt for Electron's ABI (better-sqlite3*: prebuilt binaries for the Electron version are
    // downloaded, compiled from source only if none exists). onnxruntime-node is N-API: one binary for any runtime.
    npmRebuild: true,
    buildDependenciesFromSource: false,
    nodeGypRebuild: false,
    ...(env.CXR_ELECTRON_DIST ? { electronDist: env.CXR_ELECTRON_DIST } : {}),
    // Electron fuses: the installed binary cannot be turned into a plain Node (ELECTRON_RUN_AS_NODE), take
    // NODE_OPTIONS or --inspect, or load app code from anywhere but its own app.asar.
    electronFuses: {
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    },
    win: {
      target: [{ target: 'nsis', arch: ['x64'] }],
      icon: 'build/icon.png',
    },
    nsis: {
      // The assisted installer: the IT person chooses per-machine (all users, Program Files, needs elevation) or
      // per-user (no administrator rights), and the folder.
      oneClick: false,
      perMachine: false,
      allowElevation: true,
      allowToChangeInstallationDirectory: true,
      createDesktopShortcut: true,
      createStartMenuShortcut: true,
      shortcutName: 'CXR Workstation',
      // Uninstalling the program never deletes patient data: the case store is backed up and removed deliberately.
      deleteAppDataOnUninstall: false,
      artifactName: 'CXR-Workstation-Setup-${version}-${arch}.${ext}',
    },
    linux: {
      target: [
        { target: 'AppImage', arch: ['x64'] },
        { target: 'deb', arch: ['x64'] },
      ],
      icon: 'build/icon.png',
      category: 'MedicalSoftware',
      maintainer: 'CXR Workstation <it@cxr-workstation.invalid>',
      vendor: 'CXR Workstation',
      synopsis: 'Offline chest X-ray reading workstation with AI triage',
      description: 'Review an AI reading of chest radiographs (TB triage, lesions, lung outlines) and sign the report, offline.',
      executableName: 'cxr-workstation',
    },
    appImage: { artifactName: 'CXR-Workstation-${version}-${arch}.${ext}' },
    deb: {
      artifactName: 'cxr-workstation_${version}_${arch}.${ext}',
      // The libraries an Electron app needs on Debian/Ubuntu; libsecret for the OS key store (safeStorage).
      depends: ['libgtk-3-0', 'libnotify4', 'libnss3', 'libxss1', 'libxtst6', 'xdg-utils', 'libatspi2.0-0', 'libuuid1', 'libsecret-1-0'],
      priority: 'optional',
    },
    publish: null,
  };
}

export default function config() {
  return createConfig(process.env);
}
