// Nothing to import: CFuzzMain only supplies the entry point SwiftPM's executable link expects.
