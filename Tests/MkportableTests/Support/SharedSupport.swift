/// The support every test target shares (`ReferenceTools`, `Subprocess`),
/// seen by every file of this target without an import of its own.
@_exported import TestSupport
