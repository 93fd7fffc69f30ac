"""What an import found: every problem as row, column, value and reason (Chinese and English), and the counts."""

from __future__ import annotations

from dataclasses import dataclass, field

# Problems kept in memory per import; beyond this they are counted, not listed (a file that is wrong on every
# one of a million rows needs fixing at the source, not a million-line report).
MAX_LISTED = 10_000


@dataclass(frozen=True)
class Problem:
    row: int | None        # as the spreadsheet shows it (1-based, header rows included); None: the whole file
    column: str            # the header as written in the file
    value: str
    zh: str
    en: str
    field: str | None = None

    def reason(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def as_dict(self, lang: str = "zh") -> dict:
        return {"row": self.row, "column": self.column, "field": self.field, "value": self.value,
                "reason": self.reason(lang), "reason_zh": self.zh, "reason_en": self.en}

    def line(self, lang: str = "zh") -> str:
        value = f"“{self.value}”" if self.value != "" else "（空）" if lang != "en" else "(empty)"
        if lang == "en":
            where = f"row {self.row}" if self.row is not None else "file"
            return f"{where}, column {self.column}, value {value}: {self.en}"
        where = f"第 {self.row} 行" if self.row is not None else "文件"
        return f"{where}，列“{self.column}”，值 {value}：{self.zh}"


@dataclass
class ImportReport:
    file: str
    format: str = ""
    sheet: str | None = None
    header_row: int | None = None
    crs: str = "wgs84"
    dry_run: bool = False
    update: bool = False
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    skipped_rows: list[int] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.row if p.row is not None else -1))

    def as_dict(self, lang: str = "zh") -> dict:
        return {
            "ok": self.ok, "written": self.written, "dry_run": self.dry_run, "update": self.update,
            "file": self.file, "format": self.format, "sheet": self.sheet, "header_row": self.header_row,
            "crs": self.crs, "rows": self.rows,
            "counts": {"added": self.added, "updated": self.updated, "unchanged": self.unchanged} if self.ok else None,
            "problem_count": self.problem_count,
            "problems": [p.as_dict(lang) for p in self.sorted_problems()],
            "ignored_columns": self.ignored_columns, "skipped_rows": self.skipped_rows,
            "message": self.summary(lang),
        }

    def summary(self, lang: str = "zh") -> str:
        if not self.ok:
            unlisted = self.problem_count - len(self.problems)
            if lang == "en":
                more = f" ({unlisted} more not listed)" if unlisted else ""
                return f"{self.problem_count} problem(s){more}: nothing was imported; fix them and import again."
            more = f"（另有 {unlisted} 个未列出）" if unlisted else ""
            return f"发现 {self.problem_count} 个问题{more}，未导入任何数据；请修改后重新导入。"
        if lang == "en":
            verb = "would be" if self.dry_run else "were"
            return (f"{self.rows} rows checked: {self.added} {verb} added, {self.updated} updated, "
                    f"{self.unchanged} unchanged" + (" (dry run: nothing written)." if self.dry_run else "."))
        prefix = "试运行（未写入）：" if self.dry_run else ""
        return f"{prefix}共检查 {self.rows} 行：新增 {self.added}，更新 {self.updated}，未变 {self.unchanged}。"

    def text(self, lang: str = "zh") -> str:
        lines = [p.line(lang) for p in self.sorted_problems()]
        if self.ignored_columns:
            ignored = "、".join(self.ignored_columns) if lang != "en" else ", ".join(self.ignored_columns)
            lines.append(f"ignored columns: {ignored}" if lang == "en" else f"未识别而忽略的列：{ignored}")
        if self.skipped_rows:
            rows = ", ".join(map(str, self.skipped_rows))
            lines.append(f"skipped total rows: {rows}" if lang == "en" else f"跳过的合计行：{rows}")
        lines.append(self.summary(lang))
        return "\n".join(lines)
