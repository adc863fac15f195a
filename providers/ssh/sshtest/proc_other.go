//go:build !linux

package sshtest

import (
	"errors"
	"syscall"
)

var errNotLinux = errors.New("sshtest needs Linux")

func sysProcAttr() *syscall.SysProcAttr { return nil }

func stopTree(int) ([]int, error) { return nil, errNotLinux }
func killTree(int) error          { return errNotLinux }
func contTree(int, []int) error   { return errNotLinux }
func killMarked(string)           {}
