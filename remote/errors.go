package remote

import (
	"errors"
	"fmt"
)

// ErrVersionMismatch is the error of a driver and a worker whose stages have
// different fingerprints (name, value and result types, codec, version):
// the driver fails the run with it (every item under continue-on-error)
// and the worker's [Serve] returns it, so that results of two versions of
// a stage never mix.
var ErrVersionMismatch = errors.New("remote: the driver and a worker run different versions of the stage")

// ErrMaxDeliver is the error of an item whose message was delivered to
// workers WithMaxDeliver times without being answered (workers that died
// on it, or could not process it).
var ErrMaxDeliver = errors.New("remote: delivered the maximum number of times without an answer")

// ErrTooLarge is the error of an item whose encoded value does not fit in
// one message of the server (its max_payload).
var ErrTooLarge = errors.New("remote: item too large for the server's message size limit")

// ErrSetup is the error of the items of a run whose streams or consumers
// could not be created or reached on the server.
var ErrSetup = errors.New("remote: cannot set up the job on the server")

// WorkerError is an item's error as returned by the stage's function on a
// worker (or the panic it became there), carried back to the driver.
type WorkerError struct {
	// Worker is the id of the [Serve] call that ran the item.
	Worker string
	// Msg is the error's text; a panic's includes the worker's stack.
	Msg string
}

// Error reports the worker and the error.
func (e *WorkerError) Error() string { return fmt.Sprintf("remote: on worker %s: %s", e.Worker, e.Msg) }
