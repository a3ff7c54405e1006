; Inno Setup 6 script: the Windows installer around PyInstaller's folder (dist\stepperslife-door).
; Build on Windows, from the repository root (docs/packaging.md, "Windows"):
;   py -3.11 -m venv .venv && .venv\Scripts\pip install -c constraints.txt -e ".[scanner,package]"
;   .venv\Scripts\pyinstaller --noconfirm packaging\door-app.spec
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\stepperslife-door.iss
; The installer lands in dist\stepperslife-door-<version>-setup.exe. No admin rights are needed:
; it installs per user (the door's data folder is per user too).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{5B7A3D9E-2C41-4F7B-9E0D-7A1C3F5B2E61}
AppName=SteppersLife Door
AppVersion={#AppVersion}
AppPublisher=SteppersLife
DefaultDirName={autopf}\SteppersLife Door
DefaultGroupName=SteppersLife Door
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\dist
OutputBaseFilename=stepperslife-door-{#AppVersion}-setup
SetupIconFile=stepperslife-door.ico
UninstallDisplayIcon={app}\scanner-app.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Files]
Source: "..\dist\stepperslife-door\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\SteppersLife Door"; Filename: "{app}\scanner-app.exe"
Name: "{autodesktop}\SteppersLife Door"; Filename: "{app}\scanner-app.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; Flags: unchecked

[Run]
Filename: "{app}\scanner-app.exe"; Description: "Start SteppersLife Door"; Flags: nowait postinstall skipifsilent
