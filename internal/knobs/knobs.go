package knobs

import (
	"fmt"
	"os"
	"strings"
)

// Env is the environment variable that lists the heuristics to switch off.
const Env = "FLOWBAR_KNOBS"

// Names are the heuristics that Env can switch off, in the order of the
// package documentation.
var Names = []string{"sizing", "early", "direct", "share", "presize", "lookahead"}

// Set says which heuristics are switched off.
type Set struct {
	NoSizing, NoEarly, NoDirect, NoShare, NoPresize, NoLookahead bool
}

// Read returns the heuristics Env switches off. It panics, naming the known
// heuristics, on a name it does not know.
func Read() Set {
	var k Set
	v := os.Getenv(Env)
	if v == "" {
		return k
	}
	for _, name := range strings.Split(v, ",") {
		switch strings.TrimSpace(name) {
		case "":
		case "sizing":
			k.NoSizing = true
		case "early":
			k.NoEarly = true
		case "direct":
			k.NoDirect = true
		case "share":
			k.NoShare = true
		case "presize":
			k.NoPresize = true
		case "lookahead":
			k.NoLookahead = true
		default:
			panic(fmt.Sprintf("pipeline: %s: unknown heuristic %q (known: %s)", Env, name, strings.Join(Names, ", ")))
		}
	}
	return k
}
