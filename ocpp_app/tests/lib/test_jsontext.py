import json

from ocpp_app.lib.jsontext import dumps


def test_it_writes_compact_json():
    assert dumps({"a": [1, 2.5, None, True]}) == '{"a":[1,2.5,null,true]}'


def test_it_writes_integers_beyond_64_bits():
    assert json.loads(dumps({"n": 2**80})) == {"n": 2**80}


def test_it_writes_a_lone_surrogate_escaped():
    assert dumps(["\ud800"]) == '["\\ud800"]'
