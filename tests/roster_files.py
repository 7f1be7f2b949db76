"""Roster files as bureaus send them, built in memory for the tests."""
import csv
import io

from openpyxl import Workbook

HEADERS = ["姓名", "性别", "身份证号", "学校", "学段", "年级", "班级", "在校情况", "乡镇", "村", "户主姓名", "家庭类别", "致贫原因", "监护人", "联系电话"]


def roster_row(student_name, id_number, school_name, **overrides):
    row = {
        "姓名": student_name, "性别": "", "身份证号": id_number, "学校": school_name,
        "学段": "小学", "年级": "三年级", "班级": "1班", "在校情况": "在校", "乡镇": "",
        "村": "王庄村", "户主姓名": f"{student_name[0]}大山", "家庭类别": "建档立卡已脱贫",
        "致贫原因": "因病", "监护人": f"{student_name[0]}大山", "联系电话": "13812345678",
    }
    row.update(overrides)
    return row


def xlsx_bytes(rows, headers=HEADERS, title="兰陵县建档立卡学生花名册", total=True):
    """A title row merged across the table, a blank row, the header, the rows, a total row."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([title])
    sheet.merge_cells(start_row=1, end_row=1, start_column=1, end_column=len(headers))
    sheet.append([])
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(header, "") for header in headers])
    sheet.append([])
    if total:
        sheet.append(["合计", f"{len(rows)}人"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, headers=HEADERS, encoding="utf-8-sig"):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(header, "") for header in headers])
    return text.getvalue().encode(encoding)


def xls_bytes(rows, headers=HEADERS):
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("花名册")
    sheet.write(0, 0, "兰陵县建档立卡学生花名册")
    for column, header in enumerate(headers):
        sheet.write(2, column, header)
    for index, row in enumerate(rows, start=3):
        for column, header in enumerate(headers):
            sheet.write(index, column, row.get(header, ""))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
