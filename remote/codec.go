package remote

import "encoding/json"

// Codec turns the values a remote stage sends to its workers, and the
// results they send back, into bytes. A driver and its workers must use
// the same codec: its Name is part of the stage's fingerprint. A Codec is
// used from several goroutines at once and must be safe for that.
type Codec interface {
	// Name identifies the codec and its format ("json").
	Name() string
	// Marshal encodes v, which is a pointer to the value.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a pointer to a value of the type that
	// was encoded.
	Unmarshal(data []byte, v any) error
}

// JSON returns the default [Codec]: encoding/json, which handles the
// exported fields of structs, maps with string or integer keys, slices and
// the basic types. A value it cannot encode (a channel, a function, a NaN)
// fails its item with the encoder's error.
func JSON() Codec { return jsonCodec{} }

type jsonCodec struct{}

func (jsonCodec) Name() string                       { return "json" }
func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
