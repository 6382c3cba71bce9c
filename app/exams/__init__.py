"""Exams: question bank, question types, importers and exporters, papers, attempts, grading."""
