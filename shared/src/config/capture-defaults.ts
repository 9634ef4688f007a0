/** Executables, scripts, installers, archives and documents: what malware arrives as. */
export const DEFAULT_CAPTURE_EXTENSIONS: readonly string[] = [
  // Windows executables and installers
  'exe', 'dll', 'scr', 'com', 'msi', 'msix', 'appx', 'cpl', 'sys', 'ocx',
  // scripts
  'bat', 'cmd', 'ps1', 'vbs', 'vbe', 'js', 'jse', 'wsf', 'hta', 'lnk', 'sh', 'py', 'jar',
  // macOS and Linux packages and binaries
  'dmg', 'pkg', 'app', 'deb', 'rpm', 'appimage', 'elf', 'bin', 'run',
  // documents
  'pdf', 'doc', 'docx', 'docm', 'xls', 'xlsx', 'xlsm', 'ppt', 'pptx', 'pptm', 'rtf', 'odt', 'ods', 'one',
  // archives and disk images that carry the above
  'zip', '7z', 'rar', 'iso', 'img', 'vhd', 'vhdx', 'cab', 'gz', 'tgz', 'xz', 'bz2',
];

export const DEFAULT_CAPTURE_MIME_TYPES: readonly string[] = [
  'application/x-msdownload', 'application/x-ms-dos-executable', 'application/x-msdos-program',
  'application/vnd.microsoft.portable-executable', 'application/x-executable', 'application/x-elf',
  'application/x-sharedlib', 'application/x-mach-binary', 'application/x-msi', 'application/x-ms-installer',
  'application/java-archive', 'application/x-sh', 'application/hta',
  'application/pdf', 'application/msword', 'application/rtf', 'application/vnd.ms-excel',
  'application/vnd.ms-powerpoint', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/zip', 'application/x-zip-compressed', 'application/x-7z-compressed', 'application/vnd.rar',
  'application/x-rar-compressed', 'application/x-iso9660-image',
];
