package leads

import "github.com/sellchat/sellchat/shared/platform/app/apptest"

// DepsOf builds the leads function's dependencies from a test deployment, as its
// main does (apptest cannot: this package's own tests import apptest).
func DepsOf(env *apptest.Env) Deps {
	d := env.Deps
	return Deps{Store: d.Store, Gate: d.Gate(), Verifier: d.Verifier, Logger: d.Logger}
}
