package stage

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flowbar/flowbar/pipeline"
	"github.com/flowbar/flowbar/pipeline/engine"
)

// File is a regular file found by [Walk]: both the pipeline input and the
// value of its item.
type File struct {
	Path    string      // root joined with the file's path under it, as filepath.WalkDir gives it
	Size    int64       // the size when the walk found the file
	Mode    fs.FileMode // its mode bits
	ModTime time.Time   // its modification time
}

// String returns the file's path, which is how item errors and progress
// bars name the file.
func (f File) String() string { return f.Path }

// Walk returns a source that emits the regular files of the tree rooted at
// root, in lexical order (filepath.WalkDir's), each weighing its size in
// bytes, from one goroutine of the run. Directories, symbolic links (which
// are not followed, so a broken one is not an error), devices, pipes and
// sockets are skipped; a root that is a regular file is emitted alone, and
// a root that is a symbolic link is followed (to a directory or a file).
//
// While it emits, a second goroutine of the source counts the files and
// their bytes with a walk of its own that nothing holds back: once it is
// done (usually long before the files are processed), the source declares
// both totals (engine.SetTotal, engine.SetWeightTotal), so that a hashing
// stage after it shows an exact byte total and a percentage while the
// emitting walk still waits for it. If the tree changes between the two
// walks the declared totals are off by the difference until the walk ends,
// when what it emitted becomes the total.
//
// An entry that cannot be read is the failure of an item named by its
// path, with the error as its cause (a *fs.PathError): a directory that
// cannot be listed (permission denied; the rest of the tree is still
// walked), a file that vanished between its listing and its stat, or a
// root that does not exist. Under fail-fast the first such failure stops
// the run; under continue-on-error the walk goes on and the sink returns
// every failure with its path. When the run is cancelled, both walks stop
// at the next entry. Options: WithName, and WithCountFirst to have the
// totals before the first file is emitted. It panics if root is empty.
func Walk(p *pipeline.Pipeline, root string, opts ...Option) *pipeline.Stream[File, File] {
	if root == "" {
		panic("stage: Walk: root is empty")
	}
	c := newConfig("Walk", optName|optCountFirst, opts)
	spec := engine.SourceSpec{Name: c.name, Unit: pipeline.Bytes}
	return engine.ItemSource(p, spec, func(ctx context.Context, emit func(engine.Item[File, File]) bool) error {
		countCtx, stopCount := context.WithCancel(ctx)
		var counting sync.WaitGroup
		counting.Go(func() {
			var files, bytes int64
			walkFiles(countCtx, root, func(f File, err error) bool {
				files++
				bytes += f.Size
				return countCtx.Err() == nil
			})
			if countCtx.Err() == nil {
				engine.SetTotal(ctx, files)
				engine.SetWeightTotal(ctx, bytes)
			}
		})
		defer counting.Wait()
		defer stopCount() // the count is of no use once the walk has ended
		if c.first {
			counting.Wait() // the totals are declared before the first file goes
		}
		walkFiles(ctx, root, func(f File, err error) bool {
			if err != nil {
				return emit(engine.Item[File, File]{Input: f, Err: err})
			}
			return emit(engine.Item[File, File]{Input: f, Value: f})
		})
		return nil
	}).Weigh(pipeline.Bytes, func(f File) int64 { return f.Size })
}

// walkFiles calls found for every regular file under root, or for every
// entry that cannot be read with its error, until found returns false or
// ctx is cancelled.
func walkFiles(ctx context.Context, root string, found func(File, error) bool) {
	walkRoot := root
	if info, err := os.Lstat(root); err == nil && info.Mode()&fs.ModeSymlink != 0 {
		// A root that is a link is followed (links inside are not).
		target, err := os.Stat(root)
		switch {
		case err != nil:
			found(File{Path: root}, err)
			return
		case target.Mode().IsRegular():
			found(fileOf(root, target), nil)
			return
		case target.IsDir():
			walkRoot = root + string(filepath.Separator) // lstat follows a trailing separator
		default:
			return
		}
	}
	_ = filepath.WalkDir(walkRoot, func(path string, d fs.DirEntry, err error) error {
		if path == walkRoot {
			path = root
		}
		if ctx.Err() != nil {
			return filepath.SkipAll
		}
		if err != nil {
			// A directory that cannot be listed (reported after it was
			// entered), or a root that cannot be read: the walk goes on
			// with the rest of the tree.
			if !found(File{Path: path}, err) {
				return filepath.SkipAll
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if !found(File{Path: path}, err) {
				return filepath.SkipAll
			}
			return nil
		}
		if !info.Mode().IsRegular() {
			return nil // replaced by something else since it was listed
		}
		if !found(fileOf(path, info), nil) {
			return filepath.SkipAll
		}
		return nil
	})
}

func fileOf(path string, info fs.FileInfo) File {
	return File{Path: path, Size: info.Size(), Mode: info.Mode(), ModTime: info.ModTime()}
}
