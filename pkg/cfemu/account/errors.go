package account

import (
	"fmt"
	"net/http"
)

// Error is a refusal as the Cloudflare API answers it: the HTTP status and
// the v4 envelope's error code and message.
type Error struct {
	Status  int
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(status, code int, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error codes of the Workers API.
const (
	CodeWorkerNotFound    = 10007
	CodeValidation        = 10021
	CodeSubdomainRequired = 10063
	CodeMigrationTag      = 10079
	CodeR2BucketMissing   = 10085
	CodeR2NotEnabled      = 10136
	CodeBindingInUse      = 10053
	CodeBindingNotFound   = 10056
	// CodeVersionNotFound answers a version the API does not know, or not
	// yet (packages/wrangler/src/__tests__/containers/deploy.test.ts,
	// mockGetVersionNotFoundOnce).
	CodeVersionNotFound = 100146
)

// Messages the front answers with too.
const (
	MsgWorkerNotFound  = "This Worker does not exist on your account."
	MsgVersionNotFound = "The requested Worker version could not be found, please check the ID being passed and try again."
)

func invalid(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, CodeValidation, format, args...)
}
