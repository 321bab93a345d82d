// Package atomicfile writes files so that a reader sees the old content or
// the new, never a part: through a temporary file in the target's own
// directory (never $TMPDIR, where a crash would leave a copy of a secret
// outside the project), renamed over the target.
package atomicfile
