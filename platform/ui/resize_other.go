//go:build !unix

package ui

import "os"

// resizeSignals: none here; the width is still read at each redraw.
var resizeSignals []os.Signal
