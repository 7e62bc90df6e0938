// Command kstatus prints the kstatus of Kubernetes objects, computed by
// sigs.k8s.io/cli-utils/pkg/kstatus/status — the library Flux
// (kustomize-controller's health checks), kpt and cli-utils' appliers use to
// decide whether a resource is Current, InProgress or Failed.
//
//	kstatus [FILE...]
//
// Each FILE (stdin when none) holds one object as JSON, e.g. the output of
// `kubectl get tfns NAME -o json`, or a List of them (`kubectl get tfns -o
// json`). For each object it prints one JSON line:
//
//	{"namespace":"telecom","name":"support-lines","status":"Current","message":"..."}
//
// It exits 1 on input it cannot read or an object kstatus cannot compute.
// Used by tests/e2e_kstatus.rs and tests/observability.rs; built and cached
// by hack/tools.sh (kind local).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

func main() {
	inputs := os.Args[1:]
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	out := json.NewEncoder(os.Stdout)
	for _, in := range inputs {
		objects, err := read(in)
		if err != nil {
			fail("%s: %v", in, err)
		}
		for _, obj := range objects {
			res, err := status.Compute(obj)
			if err != nil {
				fail("%s: %s/%s: %v", in, obj.GetNamespace(), obj.GetName(), err)
			}
			if err := out.Encode(result{
				Namespace: obj.GetNamespace(),
				Name:      obj.GetName(),
				Status:    res.Status.String(),
				Message:   res.Message,
			}); err != nil {
				fail("writing the result: %v", err)
			}
		}
	}
}

// read returns the object in the file (or stdin for "-"), or the items of a List.
func read(path string) ([]*unstructured.Unstructured, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object in JSON: %w", err)
	}
	if !obj.IsList() {
		return []*unstructured.Unstructured{obj}, nil
	}
	list, err := obj.ToList()
	if err != nil {
		return nil, err
	}
	items := make([]*unstructured.Unstructured, 0, len(list.Items))
	for i := range list.Items {
		items = append(items, &list.Items[i])
	}
	return items, nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kstatus: "+format+"\n", args...)
	os.Exit(1)
}
