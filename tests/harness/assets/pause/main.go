// The real node's pod sandbox: the process that holds a pod's namespaces while its containers
// come and go, as Kubernetes' own pause image does. No image can be pulled here, so the harness
// builds this (static, CGO_ENABLED=0) into a one-file image of its own.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			// PID 1 of a pod that shares its process namespace: reap orphans so none stay zombies.
			for {
				var status syscall.WaitStatus
				if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
