"""A small evaluator for the parts of a built XForm that pre-fill answers, so tests can
check what ODK Collect would show rather than the text of the expressions.

It runs what JavaRosa runs for these fields, on the XForm pyxform really built:

* `setvalue` actions on `odk-instance-first-load` (dynamic defaults) when the form
  opens, and on `xforms-value-changed` of a question when it is answered (a
  `calculation` with a `trigger`);
* `readonly` of a bind;
* external secondary instances (`<instance id="x" src="jr://file-csv/x.csv"/>`) built from
  CSV rows the way Collect builds them: `root/item/<column>`.

XPath 1.0 is lxml's (libxml2); the ODK functions the pre-fill expressions use (`if`,
`coalesce`, `instance`, and `today` for the date defaults) are added. Anything else the forms use is out of scope: an
expression calling another ODK function fails loudly (lxml raises) instead of guessing.

    form = FormEval(built.xml, {"context.csv": [{"posyandu_id": "7", ...}],
                                "children.csv": []})
    form.answer("is_new_child", "yes")
    form.value("posyandu_id")  # '7'
    form.is_readonly("posyandu_id")  # True
"""

from __future__ import annotations

from datetime import date

from lxml import etree

XF = "http://www.w3.org/2002/xforms"
_NS = {"xf": XF, "h": "http://www.w3.org/1999/xhtml"}
_FILE_CSV = "jr://file-csv/"
_INSTANCES = "__secondary_instances__"


def _string(value) -> str:
    """The XPath string() of an lxml result."""
    if isinstance(value, list):
        if not value:
            return ""
        first = value[0]
        return first if isinstance(first, str) else "".join(first.itertext())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _boolean(value) -> bool:
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, str):
        return value != ""
    if isinstance(value, float):
        return value != 0 and value == value
    return bool(value)


def _strip_namespace(element: etree._Element) -> etree._Element:
    copy = etree.Element(etree.QName(element).localname)
    copy.text = element.text
    for child in element:
        if isinstance(child.tag, str):
            copy.append(_strip_namespace(child))
    return copy


class FormEval:
    """One form being filled in: its primary instance and secondary instances."""

    def __init__(self, xform: bytes, media: dict[str, list[dict[str, str]]]):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        self.doc = etree.fromstring(xform, parser)
        model = self.doc.find("h:head/xf:model", _NS)
        primary = next(i for i in model.iterfind("xf:instance", _NS) if i.get("id") is None)
        # The secondary instances live under the data root, so that absolute paths
        # (/data/...) inside a predicate on an instance still reach the answers, as they
        # do in JavaRosa; their name is one no form uses.
        self.data = _strip_namespace(next(c for c in primary if isinstance(c.tag, str)))
        holder = etree.SubElement(self.data, _INSTANCES)
        self.instances: dict[str, etree._Element] = {}
        for inst in model.iterfind("xf:instance[@src]", _NS):
            src = inst.get("src", "")
            if not src.startswith(_FILE_CSV):
                continue
            name = src[len(_FILE_CSV):]
            if name not in media:
                raise KeyError(f"the form reads {name} (instance {inst.get('id')!r}); give its rows")
            wrapper = etree.SubElement(holder, "instance", id=inst.get("id"))
            root = etree.SubElement(wrapper, "root")
            for row in media[name]:
                item = etree.SubElement(root, "item")
                for column, value in row.items():
                    etree.SubElement(item, column).text = value or ""
            self.instances[inst.get("id")] = wrapper  # instance(id) is the node above root
        self._binds = {b.get("nodeset"): b for b in model.iterfind("xf:bind", _NS)}
        self._extensions = {(None, "if"): self._if, (None, "coalesce"): self._coalesce,
                            (None, "instance"): self._instance, (None, "today"): self._today}
        self._first_load()

    # ------------------------------------------------------------ ODK functions
    @staticmethod
    def _if(_context, condition, then, otherwise):
        return then if _boolean(condition) else otherwise

    @staticmethod
    def _coalesce(_context, first, second):
        return _string(first) if _string(first) != "" else _string(second)

    @staticmethod
    def _today(_context):
        return date.today().isoformat()

    def _instance(self, _context, instance_id):
        root = self.instances.get(_string(instance_id))
        return [] if root is None else [root]

    # ------------------------------------------------------------ the form
    def evaluate(self, expression: str):
        """An XPath expression against the form as filled in so far."""
        return etree.XPath(expression, extensions=self._extensions)(self.data)

    def path(self, name: str) -> str:
        """The absolute path of a question (names are unique in these forms)."""
        matches = [el for top in self.data if top.tag != _INSTANCES for el in top.iter(name)]
        if len(matches) != 1:
            raise KeyError(f"no single question named {name!r}")
        return self.data.getroottree().getpath(matches[0])

    def _node(self, path: str) -> etree._Element:
        (node,) = self.data.xpath(path)
        return node

    def value(self, name: str) -> str:
        return self._node(self.path(name)).text or ""

    def _run(self, setvalue: etree._Element) -> None:
        value = setvalue.get("value")
        self._node(setvalue.get("ref")).text = "" if value is None else _string(
            self.evaluate(value))

    def _first_load(self) -> None:
        for setvalue in self.doc.iter(f"{{{XF}}}setvalue"):
            if "odk-instance-first-load" in (setvalue.get("event") or "").split():
                self._run(setvalue)

    def answer(self, name: str, value: str) -> None:
        """Answer a question, then run the setvalue actions its change triggers."""
        path = self.path(name)
        self._node(path).text = value
        for control in self.doc.iter():
            if isinstance(control.tag, str) and control.get("ref") == path \
                    and etree.QName(control).localname != "setvalue":
                for setvalue in control.iterfind("xf:setvalue", _NS):
                    if setvalue.get("event") == "xforms-value-changed":
                        self._run(setvalue)

    def is_readonly(self, name: str) -> bool:
        readonly = self._binds[self.path(name)].get("readonly")
        if readonly in (None, "false()"):
            return False
        return _boolean(self.evaluate(readonly))

    def bind(self, name: str) -> etree._Element:
        return self._binds[self.path(name)]
