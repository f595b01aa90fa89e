"""The text task: any plain text (`data_gen.text`), judged by val loss, bits per byte and samples."""
