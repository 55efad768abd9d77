"""Classroom: exercises from captures and automatic grading with explanations (EN/ZH).

``synack exercise`` turns a connection of a capture into a student sheet (Markdown/HTML
with a blanked ladder diagram) and an answer key (JSON); ``synack grade`` grades a
directory of submissions (answers files and/or the students' own captures) against an
answer key or a capture assignment, writing grades.csv and a feedback page per student.
See docs/classroom.md.
"""
