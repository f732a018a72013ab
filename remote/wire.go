package remote

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
)

// What a driver and its workers agree on, by stage name.

// Headers of the messages.
const (
	hdrRun         = "Flowbar-Run"         // the run (job) a message belongs to
	hdrFingerprint = "Flowbar-Fingerprint" // the stage's fingerprint, on work
	hdrDelivered   = "Flowbar-Delivered"   // on a result: the delivery it answers
	hdrWorker      = "Flowbar-Worker"      // on a result: the worker that made it
)

// names are the JetStream names and subjects of one remote stage.
type names struct {
	stage                  string
	workStream, resStream  string
	workSubj, resSubj, hb  string
	workConsumer, resConsu string
}

func namesOf(stage string) names {
	return names{
		stage:        stage,
		workStream:   "FLOWBAR-WORK-" + stage,
		resStream:    "FLOWBAR-RESULTS-" + stage,
		workSubj:     "flowbar." + stage + ".work",
		resSubj:      "flowbar." + stage + ".results",
		hb:           "flowbar." + stage + ".heartbeat",
		workConsumer: "workers",
		resConsu:     "driver",
	}
}

// checkName panics unless name can be a stream name and a subject token.
func checkName(what, name string) {
	if name == "" {
		panic("remote: " + what + ": the stage name is empty")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			panic(fmt.Sprintf("remote: %s: stage name %q: use only letters, digits, '-' and '_'", what, name))
		}
	}
}

// fingerprint identifies a version of a stage: its name, the types it
// maps between, its codec and the version the program gives.
func fingerprint[In, Out any](name string, c config) string {
	h := sha256.New()
	fmt.Fprintf(h, "flowbar/remote 1\x00%s\x00%v\x00%v\x00%s\x00%s", name, reflect.TypeFor[In](), reflect.TypeFor[Out](), c.codec.Name(), c.version)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Item status in a result.
const (
	statusOK  = 0 // the encoded result follows
	statusErr = 1 // the error message follows
)

// appendWork appends one item to a work message body.
func appendWork(b []byte, id uint64, data []byte) []byte {
	b = binary.AppendUvarint(b, id)
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// appendResult appends one item's outcome to a result message body.
func appendResult(b []byte, id uint64, status byte, data []byte) []byte {
	b = binary.AppendUvarint(b, id)
	b = append(b, status)
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

var errFrame = errors.New("remote: malformed message")

// readWork calls fn for each item of a work message body.
func readWork(b []byte, fn func(id uint64, data []byte)) error {
	for len(b) > 0 {
		id, n := binary.Uvarint(b)
		if n <= 0 {
			return errFrame
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errFrame
		}
		b = b[n:]
		fn(id, b[:l:l])
		b = b[l:]
	}
	return nil
}

// readResult calls fn for each item of a result message body.
func readResult(b []byte, fn func(id uint64, status byte, data []byte)) error {
	for len(b) > 0 {
		id, n := binary.Uvarint(b)
		if n <= 0 || len(b) == n {
			return errFrame
		}
		st := b[n]
		b = b[n+1:]
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errFrame
		}
		b = b[n:]
		fn(id, st, b[:l:l])
		b = b[l:]
	}
	return nil
}

// heartbeat is what a Serve call announces every period.
type heartbeat struct {
	ID          string `json:"id"`
	Fingerprint string `json:"fingerprint"`
	Version     string `json:"version"`
	Workers     int    `json:"workers"`
	InFlight    int    `json:"in_flight"`
}
