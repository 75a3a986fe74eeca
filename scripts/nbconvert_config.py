# nbconvert config for scripts/run-notebooks.mjs (`jupyter nbconvert --config scripts/nbconvert_config.py`).
#
# tslab reports a failing cell only on the cell's stderr; its execute_reply carries no traceback
# and no message, so nbclient's CellExecutionError would say just "<Error>:". This puts the
# failing cell's stderr (the TypeScript diagnostics or the JS stack) into that error message.
import nbclient.exceptions as _ex

_from_cell_and_msg = _ex.CellExecutionError.from_cell_and_msg.__func__


def _from_cell_and_msg_with_stderr(cls, cell, msg):
    if not msg.get("traceback"):
        stderr = "".join(
            o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"
        )
        msg = {**msg, "traceback": [stderr.rstrip()]}
    return _from_cell_and_msg(cls, cell, msg)


_ex.CellExecutionError.from_cell_and_msg = classmethod(_from_cell_and_msg_with_stderr)


# tslab sends no execute_input with an execution count, so nbclient 0.7 leaves every executed
# cell at `In [ ]:`. Number the code cells in run order, as a front end would.
from nbconvert.preprocessors import ExecutePreprocessor as _ExecutePreprocessor

_preprocess_cell = _ExecutePreprocessor.preprocess_cell


def _preprocess_cell_numbered(self, cell, resources, index):
    cell, resources = _preprocess_cell(self, cell, resources, index)
    if cell.get("cell_type") == "code" and cell.get("execution_count") is None:
        cell["execution_count"] = self.code_cells_executed
    return cell, resources


_ExecutePreprocessor.preprocess_cell = _preprocess_cell_numbered
