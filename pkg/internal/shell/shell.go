// Package shell runs a command line through the platform's shell, the way
// npm and wrangler run a build command: /bin/sh -c on Unix, cmd.exe /d /s /c
// on Windows. Commands that are an argv run without a shell; this is only for
// a line the user wrote for a shell.
package shell
