// Command lua-health runs an Argo CD resource health check (a Lua script,
// as configured under `resource.customizations.health.<group>_<kind>` in
// argocd-cm) on Kubernetes objects, the way Argo CD runs it, so that the
// script can be tested on real objects without an Argo CD installation.
//
//	lua-health SCRIPT [FILE...]
//
// Each FILE (stdin when none) holds one object as JSON (`kubectl get ... -o
// json`). For each it prints one JSON line: {"status":"Healthy","message":"..."}.
//
// What is reproduced from Argo CD (util/lua in argoproj/argo-cd, with
// github.com/yuin/gopher-lua v1.1.1 as Argo CD embeds it):
//   - a fresh Lua state per object, opened without the standard libraries
//     (a custom health check runs with useOpenLibs off), then only the
//     package, base and table libraries; the `string`, `math`, `io` and
//     `os` tables do not exist, so a script that uses them fails here as it
//     would in Argo CD. (Argo CD also opens a reduced `os`; this harness
//     does not, so a script that needs `os` is reported as failing.)
//   - the object as the global `obj`: JSON objects become tables keyed by
//     field name, arrays become sequences from 1, numbers become Lua numbers,
//     null becomes nil;
//   - a one-second deadline;
//   - the script's result must be a table; its `status` must be one of
//     Healthy, Progressing, Degraded, Suspended, Missing, Unknown, or the
//     result is Unknown with "Lua returned an invalid health status".
//
// Exit status: 0 when every object was evaluated, 1 when the script failed
// (syntax or runtime error, no table returned) or the input is not JSON.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// health is what Argo CD reads from the script's result.
type health struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

var validStatus = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true,
	"Suspended": true, "Missing": true, "Unknown": true,
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: lua-health SCRIPT [FILE...]")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail("reading the script: %v", err)
	}
	inputs := os.Args[2:]
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	out := json.NewEncoder(os.Stdout)
	for _, in := range inputs {
		obj, err := read(in)
		if err != nil {
			fail("%s: %v", in, err)
		}
		h, err := evaluate(string(script), obj)
		if err != nil {
			fail("%s: %v", in, err)
		}
		if err := out.Encode(h); err != nil {
			fail("writing the result: %v", err)
		}
	}
}

func read(path string) (map[string]any, error) {
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
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	return obj, nil
}

// evaluate runs script with obj as the global `obj` and returns its verdict.
func evaluate(script string, obj map[string]any) (health, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return health{}, fmt.Errorf("opening the %s library: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return health{}, fmt.Errorf("the script failed: %w", err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return health{}, fmt.Errorf("expect table output from Lua script, not %s", l.Get(-1).Type())
	}
	var h health
	var err error
	if h.Status, err = field(ret, "status"); err != nil {
		return health{}, err
	}
	if h.Message, err = field(ret, "message"); err != nil {
		return health{}, err
	}
	if !validStatus[h.Status] {
		return health{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return h, nil
}

// field is a string field of the result table ("" when absent). Argo CD
// decodes the table into its HealthStatus through JSON, so anything but a
// string there is an error.
func field(t *lua.LTable, key string) (string, error) {
	switch v := t.RawGetString(key).(type) {
	case *lua.LNilType:
		return "", nil
	case lua.LString:
		return string(v), nil
	default:
		return "", fmt.Errorf("the result's %q is a %s, not a string", key, v.Type())
	}
}

// toLua turns a decoded JSON value into a Lua value.
func toLua(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	default:
		return lua.LNil
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "lua-health: "+format+"\n", args...)
	os.Exit(1)
}
