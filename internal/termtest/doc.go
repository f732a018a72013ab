// Package termtest runs progress bars on a pseudo-terminal in tests and
// reads back what a person would see: a small virtual screen interprets
// the bytes written to the terminal (text, carriage returns, line feeds,
// and the cursor-movement and erase sequences that bars use).
//
// It is for the tests of this module only.
package termtest
