// Command wordcount counts the words of a text file: the file's lines
// (stage.FileLines, weighed by the bytes read, the file's size as the
// total) are split into words on several workers (stage.FlatMap) and
// counted by word (sink.CountBy), with live progress on stderr.
//
//	go run ./examples/wordcount                  # counts a generated text
//	go run ./examples/wordcount FILE             # the ten most frequent words of FILE
//	go run ./examples/wordcount -o counts.txt FILE  # every word's count, sorted, to counts.txt
//
// With -o, the counts are written by a second pipeline, a sorted map
// source (stage.FromMapSorted) into sink.WriteLines. On Ctrl-C the bars
// end "stopped", the counts so far are printed and the exit status is 130.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/progress"
	"github.com/flowbar/flowbar/sink"
	"github.com/flowbar/flowbar/stage"
)

func main() {
	out := flag.String("o", "", "write every word's count to this file, sorted by word")
	top := flag.Int("top", 10, "words printed when -o is not given")
	lines := flag.Int("lines", 200_000, "lines of the generated text counted when no FILE is given")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: wordcount [-o FILE] [-top N] [-lines N] [FILE]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	// Ctrl-C cancels ctx (while the text is made, too); a second Ctrl-C
	// kills the program at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	context.AfterFunc(ctx, stop)
	path := flag.Arg(0)
	if path == "" {
		dir, err := os.MkdirTemp("", "wordcount")
		if err != nil {
			fmt.Fprintln(os.Stderr, "wordcount:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "text.txt")
		if err := generate(ctx, path, *lines); err != nil {
			os.RemoveAll(dir) // deferred calls do not run after os.Exit
			if ctx.Err() != nil {
				fmt.Fprintln(os.Stderr, "wordcount: interrupted while making the text")
				os.Exit(130)
			}
			fmt.Fprintln(os.Stderr, "wordcount:", err)
			os.Exit(1)
		}
	}
	code := run(ctx, path, *out, *top, os.Stdout, os.Stderr)
	stop()
	if code != 0 {
		if flag.Arg(0) == "" {
			os.RemoveAll(filepath.Dir(path)) // deferred calls do not run after os.Exit
		}
		os.Exit(code)
	}
}

// run counts the words of the file at path and prints the top ones to
// stdout, or writes every count to the file out; progress and problems go
// to stderr. It returns the exit status.
func run(ctx context.Context, path, out string, top int, stdout, stderr io.Writer) int {
	counts, err := count(ctx, path, stderr)
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "wordcount: interrupted: %d distinct words so far\n", len(counts))
		printTop(stdout, counts, top)
		return 130
	}
	if err != nil {
		fmt.Fprintln(stderr, "wordcount:", err)
		return 1
	}
	if out == "" {
		printTop(stdout, counts, top)
		return 0
	}
	if err := write(ctx, out, counts); err != nil {
		fmt.Fprintln(stderr, "wordcount:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%d distinct words written to %s\n", len(counts), out)
	return 0
}

// count returns the number of times each word occurs in the file at path.
func count(ctx context.Context, path string, progressOut io.Writer) (map[string]int, error) {
	p := pipeline.New(progress.Bars(progress.WithOutput(progressOut)))
	lines := stage.FileLines(p, path, stage.WithName("read"))
	words := stage.FlatMap(lines, func(_ context.Context, l stage.Line) ([]string, error) {
		return strings.FieldsFunc(strings.ToLower(l.Text), func(r rune) bool {
			return !unicode.IsLetter(r) && r != '\''
		}), nil
	}, stage.WithName("split"))
	return sink.CountBy(ctx, words, func(_ stage.Line, w string) string { return w }, sink.WithName("count"))
}

// printTop prints the n most frequent words, the most frequent first.
func printTop(w io.Writer, counts map[string]int, n int) {
	words := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	for _, word := range words[:min(n, len(words))] {
		fmt.Fprintf(w, "%7d %s\n", counts[word], word)
	}
}

// write writes "word count" lines, sorted by word, to the file at path.
func write(ctx context.Context, path string, counts map[string]int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	p := pipeline.New()
	err = sink.WriteLines(ctx, stage.FromMapSorted(p, counts), bw, func(word string, n int) string {
		return fmt.Sprintf("%s %d", word, n)
	})
	return errors.Join(err, bw.Flush(), f.Close())
}

// generate writes n lines of words drawn from a small vocabulary, the
// first words far more often than the last (as in real text). It stops
// with ctx's error when ctx is cancelled.
func generate(ctx context.Context, path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	vocab := strings.Fields("the of and to a in is it that for was on with as be at by this had not " +
		"pipeline stage worker channel progress bar item input result sink source weight total " +
		"flowbar go goroutine context error cancel batch merge walk lines record")
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		if i%65536 == 0 && ctx.Err() != nil {
			f.Close()
			return ctx.Err()
		}
		for j := range 3 + r.IntN(9) {
			if j > 0 {
				w.WriteByte(' ')
			}
			// The square of a uniform index favours the first words.
			u := r.Float64()
			w.WriteString(vocab[int(u*u*float64(len(vocab)))])
		}
		w.WriteByte('\n')
	}
	return errors.Join(w.Flush(), f.Close())
}
